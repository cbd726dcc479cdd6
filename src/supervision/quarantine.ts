/**
 * Quarantine: "isolate the failing subset". A worker under suspicion (its
 * recent error rate an outlier against its peers', by the rule in
 * isolation.ts) is drained and replaced: a worker with a poisoned cache, a
 * broken connection or corrupted native state fails everything it touches,
 * while its peers are fine. It acts on the failure that makes the worker
 * suspect, not at the next periodic check, and whatever the breakers'
 * states: outcomes reach it from every task that ran, half-open trials
 * included.
 */
import type { OutlierRule } from './isolation.js';

/** The quarantine option, resolved: the outlier rule with its defaults. */
export type QuarantinePolicy = OutlierRule;
