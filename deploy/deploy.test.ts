/**
 * What can be checked of the deployment files without Docker, Kubernetes, Grafana or a
 * Snowflake account: every YAML parses, ports bind to loopback in compose, the
 * StatefulSet is probed on /readyz and scraped, and every metric a Grafana panel
 * queries is one millrace exports.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { METRICS } from '../observability/metrics.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '..');

function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(dir, f));
}

describe('deployment files', () => {
  it('every YAML file parses', () => {
    const files = [path.join(root, 'docker-compose.yml'), ...yamlFiles(here)];
    expect(files.length).toBeGreaterThan(8);
    for (const f of files) {
      for (const doc of parseAllDocuments(fs.readFileSync(f, 'utf8')))
        expect(doc.errors, f).toEqual([]);
    }
  });

  it('compose publishes every port on 127.0.0.1 only', () => {
    const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { ports?: string[] }>;
    };
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const p of svc.ports ?? []) expect(p, name).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('the processor StatefulSet has a state volume, /readyz readiness and scrape annotations', () => {
    const [sts] = parseAllDocuments(
      fs.readFileSync(path.join(here, 'k8s/processor-statefulset.yaml'), 'utf8'),
    ).map((d) => d.toJS());
    expect(sts.kind).toBe('StatefulSet');
    const pod = sts.spec.template;
    expect(pod.metadata.annotations['prometheus.io/scrape']).toBe('true');
    expect(pod.spec.containers[0].readinessProbe.httpGet.path).toBe('/readyz');
    expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe(
      pod.spec.containers[0].volumeMounts[0].name,
    );
  });

  it('every metric queried by the Grafana dashboard is exported', () => {
    const dash = JSON.parse(
      fs.readFileSync(path.join(here, 'grafana/dashboards/millrace.json'), 'utf8'),
    ) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    const known = new Set<string>(METRICS.map((m) => m.name));
    const exported = (name: string) =>
      known.has(name) ||
      known.has(name.replace(/_(bucket|sum|count)$/, '')) ||
      name.startsWith('millrace_node_');
    expect(dash.panels.length).toBeGreaterThanOrEqual(10);
    for (const p of dash.panels) {
      for (const t of p.targets) {
        const names = t.expr.match(/millrace_[a-z0-9_]+/g) ?? [];
        expect(names.length, p.title).toBeGreaterThan(0);
        for (const n of names) expect(exported(n), `${p.title}: ${n}`).toBe(true);
      }
    }
  });

  it('groups dashboard panels only by labels their metrics carry', () => {
    const dash = JSON.parse(
      fs.readFileSync(path.join(here, 'grafana/dashboards/millrace.json'), 'utf8'),
    ) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    const labels = new Map<string, readonly string[]>(METRICS.map((m) => [m.name, m.labels]));
    const base = (n: string) => n.replace(/_(bucket|sum|count)$/, '');
    // Added by Prometheus (job, instance) or by histograms (le).
    const always = ['job', 'instance', 'le'];
    for (const p of dash.panels) {
      for (const t of p.targets) {
        // Each `sum by (…) (expr)` is checked against the metrics inside the expr.
        for (const m of t.expr.matchAll(/by \(([^)]*)\) \(([^]*?)\)\s*(?:\)|or|$)/g)) {
          const metrics = (m[2]!.match(/millrace_[a-z0-9_]+/g) ?? []).map(base);
          for (const label of m[1]!.split(',').map((l) => l.trim())) {
            if (always.includes(label)) continue;
            for (const metric of metrics)
              expect(labels.get(metric) ?? [], `${p.title}: ${metric} by ${label}`).toContain(
                label,
              );
          }
        }
      }
    }
  });
});
