/** Structured JSON logs, one object per line, as CloudWatch's JSON log format expects. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type LogSink = (line: string) => void;

/**
 * A logger whose every line carries `base` (function name, layer...). The sink defaults to
 * stdout, which Lambda forwards to the function's log group.
 */
export function createLogger(base: Record<string, unknown>, sink: LogSink = (line) => process.stdout.write(`${line}\n`)): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>) =>
    sink(JSON.stringify({ level, message, ...base, ...fields, timestamp: new Date().toISOString() }));
  return {
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
  };
}
