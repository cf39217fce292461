// Types of lint/layers.js (plain JavaScript, so that eslint.config.js loads it without a build).
import type { ESLint } from 'eslint';

export interface Layer {
  part: string;
  owns: string;
  may: string[] | '*';
  not?: string[];
}
export const LAYERS: Layer[];
export const PACKAGES: Record<string, string[]>;
export function partOf(rel: string): Layer | undefined;
export function forbiddenImport(fromRel: string, toRel: string): string | undefined;
export function forbiddenPackage(fromRel: string, name: string): string | undefined;
export function describeMay(layer: Layer): string;
export function layersTableMarkdown(): string;
export const layersPlugin: ESLint.Plugin;
export const TABLE_START: string;
export const TABLE_END: string;
export function withLayersTable(doc: string): string;
