// Removes a template's images (every tag of `airlock-tmpl-<name>`) for the tests and the bench that build a
// template from scratch and leave nothing behind.

import { execFileSync } from 'node:child_process';

/** Removes every image of template `name` (airlock-tmpl-NAME:*). */
export function removeTemplateImages(name: string): void {
  const refs = execFileSync(
    'docker',
    ['images', '--format', '{{.Repository}}:{{.Tag}}', `airlock-tmpl-${name}`],
    {
      encoding: 'utf8',
    },
  );
  for (const ref of refs.split('\n').filter(Boolean))
    execFileSync('docker', ['rmi', '-f', ref], { stdio: 'ignore' });
}
