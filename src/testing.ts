/** Test helpers for users of sluice: a clock that moves only when told. */
export { ManualClock } from './time/clock.js';
