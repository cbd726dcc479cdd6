/**
 * A consumer project: a temporary folder with the files of
 * test/package/consumer/ and the tarball installed from disk, as a user's
 * project installs sluice. Registry packages come from npm's cache when it
 * has them (it does after `npm ci`, for the versions the lockfile holds).
 */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, sh } from './pack.js';

export const CONSUMER_FILES = join(ROOT, 'test/package/consumer');

/** The version of `name` installed in the repository (what the lockfile says). */
export async function installedVersion(name: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Creates a consumer project with `tarball` and `deps` (name → version) installed. */
export async function consumerProject(tag: string, tarball: string, deps: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `sluice-consumer-${tag}-`));
  await cp(CONSUMER_FILES, dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${tag}`, private: true, type: 'module' }, null, 2) + '\n');
  const specs = Object.entries(deps).map(([name, version]) => `${name}@${version}`);
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', tarball, ...specs], dir);
  return dir;
}
