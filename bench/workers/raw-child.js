// The ceiling for processes: a bare child_process IPC echo, one message per task.
process.on('message', (m) => {
  process.send(Number(m) + 1);
});
