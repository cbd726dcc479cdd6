// The task module of the CommonJS consumer: the workers load it with import(), which reads CommonJS exports.
exports.inc = (n) => n + 1;
