/**
 * System tools some tests drive for real (Prometheus, Chromium), installed by
 * `deploy/local/ensure-tools.sh`. A missing tool fails its test with how to install it,
 * unless the named environment variable opts out.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The first executable `name` on PATH, or undefined. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Why a test cannot run without `tool`, and the two ways out. */
export function installHint(tool: string, aptPackage: string, optOutVar: string): string {
  return (
    `${tool} is not installed: run \`bash deploy/local/ensure-tools.sh\` (as root; on Debian it runs ` +
    `\`apt-get install -y ${aptPackage}\`), or set ${optOutVar}=1 to skip this test`
  );
}
