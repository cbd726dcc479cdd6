/**
 * The tarball users install, made as a release is: `npm pack` in a checkout
 * that has never been built. The tracked (and new, not ignored) files are
 * copied into a temporary folder with no dist/, node_modules is linked in for
 * the build tools, and `npm pack` there must build through `prepack`.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from .test-build/test/package/ or test/package/. */
export const ROOT = fileURLToPath(new URL(import.meta.url.includes('/.test-build/') ? '../../../' : '../../', import.meta.url));

export interface PackedFile {
  path: string;
  size: number;
}

export interface Packed {
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Where it was packed from (a fresh copy of the checkout, built by prepack). */
  checkout: string;
  files: PackedFile[];
  size: number;
  unpackedSize: number;
}

/** Runs a command, throwing with its output when it fails. */
export function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Packs the checkout at `root` as a fresh clone would be packed. */
export async function packFreshCheckout(root = ROOT): Promise<Packed> {
  const work = await mkdtemp(join(tmpdir(), 'sluice-pack-'));
  const checkout = join(work, 'checkout');
  const listed = sh('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root).split('\0').filter(Boolean);
  for (const file of listed) {
    await mkdir(join(checkout, dirname(file)), { recursive: true });
    // A tracked file deleted in the work tree is not part of the checkout.
    await cp(join(root, file), join(checkout, file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  await symlink(join(root, 'node_modules'), join(checkout, 'node_modules'), 'dir');
  const out = sh('npm', ['pack', '--json', '--pack-destination', work], checkout);
  // The prepack build may print before the JSON, which starts on a line of its own.
  const start = out.search(/^\[$/m);
  if (start < 0) throw new Error(`npm pack --json printed no JSON:\n${out}`);
  const [info] = JSON.parse(out.slice(start)) as [{ filename: string; files: PackedFile[]; size: number; unpackedSize: number }];
  return { tarball: join(work, info.filename), checkout, files: info.files, size: info.size, unpackedSize: info.unpackedSize };
}
