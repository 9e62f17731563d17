// Runs a state machine definition locally with aws-local-stepfunctions,
// routing every Task state to an in-process fake, and prints a JSON report.
//
// Usage: node22 tools/run-sfn.mjs < request.json
// request: {
//   definition: <ASL object>,
//   input: <execution input>,
//   context: <Context Object, e.g. {StateMachine: {Id}, Execution: {Id}}>,
//   roles: {"<function ARN>": "guard" | "tableLocation" | "emptyPrefix" |
//           "query" | "exportBallots" | "exportBoundaryReviews" |
//           "outcodeSplit" | "publish" | "plausibility"},
//   scenario: {
//     guardDecisions: ["wait", ...], // guard's decisions in call order; the
//                                  // last repeats (default "proceed")
//     failQuery: "<QueryName>",    // the status call of this query fails
//     runningPolls: 1,             // status calls that answer RUNNING first
//     throttle: {"<role>": n},     // the first n calls throw TooManyRequests
//     implausible: true,           // the plausibility gate refuses unless the
//                                  // execution's input has accept_change: true
//   }
// }
// report: {status, output, error, cause, calls, entered, retries, sns}
//   calls: every fake Lambda call in the order it happened (exact, at any
//          depth), with "error" set when the fake threw.
//   entered/retries: top-level states only. Events of states nested in a
//          Parallel or Map are forwarded asynchronously by the library, so
//          their order is not reliable and some arrive after the end.
import { readFileSync } from 'node:fs';
import { namedError as fakeError, runMachine } from './sfn-local.mjs';

const req = JSON.parse(readFileSync(0, 'utf8'));
const scenario = req.scenario ?? {};

const queries = new Map(); // queryExecutionId -> {name, polls}
const throttled = {};
let guardCalls = 0;

const fakes = {
  guard: () => {
    const ds = scenario.guardDecisions ?? ['proceed'];
    guardCalls++;
    const decision = ds[Math.min(guardCalls, ds.length) - 1];
    return { decision, message: `fake guard: ${decision}` };
  },
  tableLocation: (p) => {
    if (!p.database || !p.table) throw fakeError('ValidationError', 'database and table are required');
    if (p.location) {
      // A switch: the table now points at p.location and was at its home.
      return { [`${p.table}_location`]: p.location, [`${p.table}_previous_location`]: `s3://source-bucket/${p.table}/` };
    }
    return { [`${p.table}_location`]: `s3://source-bucket/${p.table}/` };
  },
  emptyPrefix: (p) => {
    if (!p.bucket || !p.prefix) throw fakeError('ValidationError', 'bucket and prefix are required');
    return { deleted: 3 };
  },
  query: (p) => {
    if (p.stop) {
      if (!p.executionArn) throw fakeError('ValidationError', 'stop needs executionArn');
      // Queries whose last status call did not end them are still running.
      const stopped = [...queries].filter(([, q]) => q.executionArn === p.executionArn && !q.ended).map(([id]) => id);
      return { stopped };
    }
    if (p.queryExecutionId) {
      const q = queries.get(p.queryExecutionId);
      if (!q) throw fakeError('ValidationError', `unknown query ${p.queryExecutionId}`);
      q.polls++;
      if (q.polls <= (scenario.runningPolls ?? 0)) {
        return { queryExecutionId: p.queryExecutionId, status: 'RUNNING', dataScannedBytes: 0 };
      }
      q.ended = true;
      if (scenario.failQuery && q.name === scenario.failQuery) {
        throw fakeError('QueryFailed', `query ${q.name} (${p.queryExecutionId}) FAILED: gate failed`);
      }
      return { queryExecutionId: p.queryExecutionId, status: 'SUCCEEDED', dataScannedBytes: 1024 };
    }
    if (!p.QueryName && !p.QueryString) throw fakeError('ValidationError', 'QueryName or QueryString is required');
    if (p.blocking !== false) throw fakeError('ValidationError', 'state machine queries must not block');
    const id = `q-${queries.size + 1}`;
    queries.set(id, { name: p.QueryName ?? p.QueryString, polls: 0, executionArn: p.executionArn });
    return { queryExecutionId: id };
  },
  exportBallots: () => ({ bucket: 'ee-bucket', key: 'current_elections.csv', rows: 42 }),
  // boundaryexport.In has no fields: the selection is the Lambda's config.
  exportBoundaryReviews: (p) => {
    const extra = Object.keys(p ?? {});
    if (extra.length) throw fakeError('ValidationError', `unknown field(s) ${extra.join(', ')}`);
    return { bucket: 'ee-bucket', key: 'current_boundary_reviews.csv', rows: 40, reviews: 20 };
  },
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
  plausibility: (p) => {
    for (const k of ['bucket', 'staging_prefix', 'dest_prefix', 'list_column']) {
      if (!p[k]) throw fakeError('ValidationError', `${k} is required`);
    }
    if (!Array.isArray(p.letters) || p.letters.length === 0) throw fakeError('ValidationError', 'letters is empty');
    const accepted = p.trigger?.accept_change === true;
    if (scenario.implausible && !accepted) {
      throw fakeError('Refused', 'plausibility gate refused current_elections_parquet, nothing was published');
    }
    // The manifest is staged beside the staged files.
    return { manifest: `${p.staging_prefix.replace(/_parquet\/$/, '_manifest/')}manifest.json`, accepted_findings: accepted && scenario.implausible ? ['planted'] : [] };
  },
  publish: (p) => {
    for (const k of ['bucket', 'staging_prefix', 'dest_prefix']) {
      if (!p[k]) throw fakeError('ValidationError', `${k} is required`);
    }
    if (!Array.isArray(p.letters)) throw fakeError('ValidationError', 'letters must be a list');
    return { copied: [], unchanged: 0, deleted: [] };
  },
};

// invoke runs the role's fake; the scenario may throttle a role's first calls.
function invoke(role, payload) {
  if (!fakes[role]) throw fakeError('Lambda.ResourceNotFoundException', `no fake for role ${role}`);
  const n = scenario.throttle?.[role] ?? 0;
  throttled[role] = (throttled[role] ?? 0) + 1;
  if (throttled[role] <= n) {
    throw fakeError('Lambda.TooManyRequestsException', `Rate exceeded (${role} call ${throttled[role]})`);
  }
  return fakes[role](payload);
}

process.stdout.write(JSON.stringify(await runMachine(req, invoke)));
