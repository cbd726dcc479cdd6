/**
 * `sluice/dashboard`: a live page for a pool, served by node:http with no
 * dependency (docs/dashboard.md). An entry of its own, so the core and
 * applications that never open a dashboard load none of it.
 */
export { serveDashboard, type Dashboard, type DeadLetterNote } from './server.js';
export type { DashboardOptions } from './options.js';
export type { Frame, Point, WorkerRow, DeadLetterRow, EventRow, JobProgress, JobFrame } from './frame.js';
export type { SseCounters } from './sse.js';
