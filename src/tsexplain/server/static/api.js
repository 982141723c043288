// REST client generated at start-up from the server's OpenAPI schema: one call per operationId.
export class ApiError extends Error {
  constructor(status, detail) { super(`${status}: ${detail}`); this.status = status; this.detail = detail; }
}

const operations = {};

export async function init() {
  const resp = await fetch('/api/v1/openapi.json');
  if (!resp.ok) throw new ApiError(resp.status, 'cannot read the OpenAPI schema');
  const spec = await resp.json();
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      operations[op.operationId] = { path, method: method.toUpperCase(), parameters: op.parameters || [] };
    }
  }
  return Object.keys(operations);
}

// call('get_sample', {dataset: 'x', index: 3, model: 'm'}) or call('explain', {}, body)
export async function call(operationId, args = {}, body = undefined) {
  const op = operations[operationId];
  if (!op) throw new Error(`the API has no operation ${operationId}`);
  let url = op.path;
  const query = new URLSearchParams();
  for (const p of op.parameters) {
    const v = args[p.name];
    if (v === undefined || v === null || v === '') continue;
    if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(v));
    else if (p.in === 'query') query.set(p.name, v);
  }
  const qs = query.toString();
  const resp = await fetch(qs ? `${url}?${qs}` : url, {
    method: op.method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const d = data.detail;
    const text = typeof d === 'string' ? d
      : Array.isArray(d) ? d.map((e) => `${(e.loc || []).join('.')}: ${e.msg}`).join('; ') : resp.statusText;
    throw new ApiError(resp.status, text);
  }
  return data;
}

// Submit a job and poll it; onProgress(job) on every poll. Returns the finished job.
export async function runJob(body, { onProgress = () => {}, signal = null, interval = 300 } = {}) {
  let job = await call('submit_job', {}, body);
  onProgress(job);
  while (job.status === 'queued' || job.status === 'running') {
    await new Promise((r) => setTimeout(r, interval));
    if (signal && signal.aborted) { job = await call('cancel_job', { job_id: job.id }); }
    else job = await call('get_job', { job_id: job.id });
    onProgress(job);
  }
  return job;
}
