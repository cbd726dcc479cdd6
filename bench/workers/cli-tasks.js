// Task module of the `cli` scenario: a trivial task, so what is measured is
// the cost of moving lines through `sluice run`, not the task.
export function double(record) {
  return record.n * 2;
}
