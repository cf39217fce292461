/**
 * Loading a user's TypeScript module (`millrace run my-app.ts`). The installed package is
 * plain JavaScript and needs no TypeScript loader; when a command is given a `.ts` file,
 * millrace registers tsx (an optional peer dependency: `npm i -D tsx`) for it, and says
 * so when tsx is absent. JavaScript modules and YAML/JSON topologies need nothing.
 */
import { UsageError } from './errors.js';

const TS_FILE = /\.(ts|mts|cts)$/;
let registered = false;

/** The bin ran from the repository's sources and registered tsx already. */
export function typeScriptLoaderRegistered(): void {
  registered = true;
}

/** Makes `import()` of `file` work: registers tsx first when `file` is TypeScript. */
export async function ensureLoaderFor(file: string): Promise<void> {
  if (registered || !TS_FILE.test(file)) return;
  let api: { register(): unknown };
  try {
    api = (await import('tsx/esm/api')) as { register(): unknown };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new UsageError(
      `${file} is TypeScript, and millrace loads TypeScript with tsx, which is not installed: ` +
        `run \`npm i -D tsx\` in your project, or compile your app and pass the .js file`,
    );
  }
  api.register();
  registered = true;
}
