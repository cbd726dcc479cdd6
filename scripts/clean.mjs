// First step of `npm run build`: start from nothing, so a module that was
// deleted or renamed leaves no stale .js or .d.ts behind in dist.
import { rm } from 'node:fs/promises';

for (const dir of ['dist', '.build']) await rm(new URL(`../${dir}`, import.meta.url), { recursive: true, force: true });
