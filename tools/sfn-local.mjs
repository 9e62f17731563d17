// Shared by run-sfn.mjs (JavaScript fakes) and run-sfn-http.mjs (the real
// Go handlers over HTTP): runs a definition with aws-local-stepfunctions,
// sends every Lambda task to invoke(role, payload), records SNS publishes,
// makes retry pauses take no time and waits take req.waitMs (default 0),
// and returns the report.
//
// report: {status, output, error, cause, calls, entered, retries, sns}
//   calls: every Lambda call in the order it started (at any depth), with
//          "error"/"message" set when it failed.
//   entered/retries: top-level states only. Events of states nested in a
//          Parallel or Map are forwarded asynchronously by the library, so
//          their order is not reliable and some arrive after the end.
import { StateMachine } from 'aws-local-stepfunctions';

// namedError builds an error the way Step Functions names a Lambda failure,
// so Retry/Catch ErrorEquals match.
export function namedError(name, message) {
  const e = new Error(message);
  e.name = name;
  return e;
}

export async function runMachine(req, invoke) {
  const calls = [];
  const sns = [];

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

  const taskHandlers = {};
  const waits = {};
  const retries = {};
  function walk(states) {
    for (const [name, s] of Object.entries(states)) {
      if (s.Type === 'Task') {
        taskHandlers[name] = (params) => handle(name, params);
        if (s.Retry) retries[name] = 0;
      }
      if (s.Type === 'Wait') waits[name] = req.waitMs ?? 0;
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
  return report;
}
