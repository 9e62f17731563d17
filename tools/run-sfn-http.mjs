// Runs a state machine definition locally with aws-local-stepfunctions,
// routing every Lambda task to an HTTP server that runs the real Go handlers
// (internal/e2e), and prints a JSON report. SNS publish is recorded, not sent.
//
// Usage: node22 tools/run-sfn-http.mjs < request.json
// request: {
//   definition: <ASL object>,
//   input: <execution input>,
//   context: <Context Object, e.g. {StateMachine: {Id}, Execution: {Id}}>,
//   baseURL: "http://127.0.0.1:port",   // POST ${baseURL}/invoke/${role}
//   waitMs: 10,                         // every Wait state's pause (default 0)
//   roles: {"<function ARN>": "guard" | "tableLocation" | "emptyPrefix" |
//           "query" | "exportBallots" | "outcodeSplit" | "publish"},
// }
// The server answers 200 with the handler's JSON output, or a non-2xx status
// with {errorType, errorMessage}; the task then throws an Error named
// errorType, so Retry/Catch ErrorEquals match as they do for a Lambda in AWS.
//
// report: {status, output, error, cause, calls, entered, sns}
//   calls: every Lambda call in the order it started, with "error" set to
//          the errorType when the handler failed.
//   entered: top-level states only (nested events arrive asynchronously).
import { readFileSync } from 'node:fs';
import { namedError, runMachine } from './sfn-local.mjs';

const req = JSON.parse(readFileSync(0, 'utf8'));
if (!req.baseURL) throw new Error('request.baseURL is required');

async function invoke(role, payload) {
  let res;
  try {
    res = await fetch(`${req.baseURL}/invoke/${role}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
    });
  } catch (err) {
    // The Lambda service could not be reached: as in AWS, a service error.
    throw namedError('Lambda.ServiceException', `invoke ${role}: ${err.message}`);
  }
  const text = await res.text();
  let body;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    throw namedError('Lambda.ServiceException', `invoke ${role}: HTTP ${res.status}, body is not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    throw namedError(body?.errorType || 'Lambda.Unknown', body?.errorMessage ?? text);
  }
  return body;
}

process.stdout.write(JSON.stringify(await runMachine(req, invoke)));
