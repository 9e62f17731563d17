// Runs a state machine definition locally with aws-local-stepfunctions,
// routing every Task state to an in-process fake, and prints a JSON report.
//
// Usage: node22 tools/run-sfn.mjs < request.json
// request: {
//   definition: <ASL object>,
//   input: <execution input>,
//   context: <Context Object, e.g. {StateMachine: {Id}, Execution: {Id}}>,
//   roles: {"<function ARN>": "guard" | "tableLocation" | "emptyPrefix" |
//           "query" | "exportBallots" | "outcodeSplit" | "deleteStale"},
//   scenario: {
//     guardProceed: true,          // guard's "proceed"
//     failQuery: "<QueryName>",    // the status call of this query fails
//     runningPolls: 1,             // status calls that answer RUNNING first
//     throttle: {"<role>": n},     // the first n calls throw TooManyRequests
//   }
// }
// report: {status, output, error, cause, calls, entered, retries, sns}
//   calls: every fake Lambda call in the order it happened (exact, at any
//          depth), with "error" set when the fake threw.
//   entered/retries: top-level states only. Events of states nested in a
//          Parallel or Map are forwarded asynchronously by the library, so
//          their order is not reliable and some arrive after the end.
import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';

const req = JSON.parse(readFileSync(0, 'utf8'));
const scenario = req.scenario ?? {};
const calls = [];
const sns = [];

// fakeError builds an error the way Step Functions names a Lambda failure.
function fakeError(name, message) {
  const e = new Error(message);
  e.name = name;
  return e;
}

const queries = new Map(); // queryExecutionId -> {name, polls}
const throttled = {};

const fakes = {
  guard: () => ({
    proceed: scenario.guardProceed ?? true,
    message: scenario.guardProceed === false ? 'another execution is running' : 'no other execution',
  }),
  tableLocation: (p) => {
    if (!p.database || !p.table) throw fakeError('ValidationError', 'database and table are required');
    return { [`${p.table}_location`]: `s3://source-bucket/${p.table}/` };
  },
  emptyPrefix: (p) => {
    if (!p.bucket || !p.prefix) throw fakeError('ValidationError', 'bucket and prefix are required');
    return { deleted: 3 };
  },
  query: (p) => {
    if (p.queryExecutionId) {
      const q = queries.get(p.queryExecutionId);
      if (!q) throw fakeError('ValidationError', `unknown query ${p.queryExecutionId}`);
      q.polls++;
      if (q.polls <= (scenario.runningPolls ?? 0)) {
        return { queryExecutionId: p.queryExecutionId, status: 'RUNNING', dataScannedBytes: 0 };
      }
      if (scenario.failQuery && q.name === scenario.failQuery) {
        throw fakeError('QueryFailed', `query ${q.name} (${p.queryExecutionId}) FAILED: gate failed`);
      }
      return { queryExecutionId: p.queryExecutionId, status: 'SUCCEEDED', dataScannedBytes: 1024 };
    }
    if (!p.QueryName && !p.QueryString) throw fakeError('ValidationError', 'QueryName or QueryString is required');
    if (p.blocking !== false) throw fakeError('ValidationError', 'state machine queries must not block');
    const id = `q-${queries.size + 1}`;
    queries.set(id, { name: p.QueryName ?? p.QueryString, polls: 0 });
    return { queryExecutionId: id };
  },
  exportBallots: () => ({ bucket: 'ee-bucket', key: 'current_elections.csv', rows: 42 }),
  outcodeSplit: (p) => {
    for (const k of ['bucket', 'source_prefix', 'dest_prefix', 'first_letter']) {
      if (!p[k]) throw fakeError('ValidationError', `${k} is required`);
    }
    const outcodes = [`${p.first_letter}1`, `${p.first_letter}2`];
    return {
      first_letter: p.first_letter, rows: 10, duplicates_dropped: 0,
      outcodes, written: 1, unchanged: 1, empty: 0,
    };
  },
  deleteStale: (p) => {
    if (!Array.isArray(p.letters)) throw fakeError('ValidationError', 'letters must be a list');
    return { deleted: [] };
  },
};

async function handle(stateName, params) {
  if (params && params.TopicArn) {
    sns.push({ state: stateName, topicArn: params.TopicArn, subject: params.Subject, message: params.Message });
    return { MessageId: `m-${sns.length}` };
  }
  const role = req.roles?.[params?.FunctionName];
  if (!role || !fakes[role]) throw fakeError('ResourceNotFound', `no fake for function ${params?.FunctionName} in state ${stateName}`);
  const payload = params.Payload ?? {};
  const record = { state: stateName, role, payload };
  calls.push(record);
  try {
    const n = scenario.throttle?.[role] ?? 0;
    throttled[role] = (throttled[role] ?? 0) + 1;
    if (throttled[role] <= n) {
      throw fakeError('Lambda.TooManyRequestsException', `Rate exceeded (${role} call ${throttled[role]})`);
    }
    return { Payload: fakes[role](payload) };
  } catch (err) {
    record.error = err.name;
    throw err;
  }
}

// Every Task and Wait state, at any depth, gets an override: tasks go to the
// fakes, waits and retry pauses take no time.
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
const retried = [];
const collect = (async () => {
  for await (const ev of execution.eventLogs) {
    if (!(ev.state?.name in req.definition.States)) continue;
    if (ev.type === 'StateEntered') entered.push(ev.state.name);
    if (ev.type === 'StateRetried') retried.push({ state: ev.state.name, attempt: ev.retry.attempt });
  }
})();

const report = { calls, sns, entered, retries: retried };
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
