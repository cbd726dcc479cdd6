// The task module of the hash-batch example: real CPU work per record.
// Imports nothing but node builtins, so it runs in any worker as-is.
import { createHash, pbkdf2Sync } from 'node:crypto';

/**
 * Derives a key from the record's text (PBKDF2-SHA256, a few ms of CPU per
 * record), then fingerprints it. Returns the record's id with the digest.
 * @param {{ id: string, text: string, rounds?: number }} record
 */
export function hash(record) {
  const key = pbkdf2Sync(record.text, `salt:${record.id}`, record.rounds ?? 5_000, 32, 'sha256');
  return { id: record.id, digest: createHash('sha256').update(key).digest('hex').slice(0, 16) };
}
