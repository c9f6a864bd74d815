import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** `<repo root>/../shared/specs`, where the carriers' official specs live; the repo root is the nearest package.json. */
export function sharedSpecsDir(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return resolve(dir, '..', 'shared', 'specs');
}
