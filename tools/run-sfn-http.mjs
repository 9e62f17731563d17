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
//   roles: {"<function ARN>": "guard" | "tableLocation" | "emptyPrefix" |
//           "query" | "exportBallots" | "outcodeSplit" | "deleteStale"},
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
import { StateMachine } from 'aws-local-stepfunctions';

const req = JSON.parse(readFileSync(0, 'utf8'));
if (!req.baseURL) throw new Error('request.baseURL is required');
const calls = [];
const sns = [];

function namedError(name, message) {
  const e = new Error(message);
  e.name = name;
  return e;
}

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

async function handle(stateName, params) {
  if (params && params.TopicArn) {
    sns.push({ state: stateName, topicArn: params.TopicArn, subject: params.Subject, message: params.Message });
    return { MessageId: `m-${sns.length}` };
  }
  const role = req.roles?.[params?.FunctionName];
  if (!role) throw namedError('Lambda.ResourceNotFoundException', `no role for function ${params?.FunctionName} in state ${stateName}`);
  const payload = params.Payload ?? {};
  const record = { state: stateName, role, payload };
  calls.push(record);
  try {
    return { Payload: await invoke(role, payload) };
  } catch (err) {
    record.error = err.name;
    record.message = err.message;
    throw err;
  }
}

// Every Task and Wait state, at any depth, gets an override: tasks go to the
// server, waits and retry pauses take no time.
const taskHandlers = {};
const waits = {};
const retries = {};
function walk(states) {
  for (const [name, s] of Object.entries(states)) {
    if (s.Type === 'Task') {
      taskHandlers[name] = (params) => handle(name, params);
      if (s.Retry) retries[name] = 0;
    }
    if (s.Type === 'Wait') waits[name] = 0;
    for (const b of s.Branches ?? []) walk(b.States);
    if (s.ItemProcessor) walk(s.ItemProcessor.States);
    if (s.Iterator) walk(s.Iterator.States);
  }
}
walk(req.definition.States);

const machine = new StateMachine(req.definition);
const execution = machine.run(req.input ?? {}, {
  overrides: {
    taskResourceLocalHandlers: taskHandlers,
    waitTimeOverrides: waits,
    retryIntervalOverrides: retries,
  },
  context: req.context ?? {},
});

const entered = [];
const collect = (async () => {
  for await (const ev of execution.eventLogs) {
    if (!(ev.state?.name in req.definition.States)) continue;
    if (ev.type === 'StateEntered') entered.push(ev.state.name);
  }
})();

const report = { calls, sns, entered };
try {
  report.output = await execution.result;
  report.status = 'SUCCEEDED';
} catch (err) {
  report.status = 'FAILED';
  const cause = err.cause ?? err;
  report.error = cause.name;
  report.cause = cause.message;
}
await collect;
process.stdout.write(JSON.stringify(report));
