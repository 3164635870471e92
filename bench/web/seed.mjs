// Creates a user and one finished mastering job through the real HTTP API, for Lighthouse runs
// of the signed-in pages. Prints {"cookie","job_id"} as JSON.
//   usage: node seed.mjs BASE_URL WAV [EMAIL]
import fs from 'node:fs';
import path from 'node:path';

const [base, wav, emailArg] = process.argv.slice(2);
if (!base || !wav) {
  console.error('usage: node seed.mjs BASE_URL WAV [EMAIL]');
  process.exit(2);
}
const email = emailArg ?? `bench-${Date.now()}@example.test`;
let cookie = '';
async function call(method, p, body) {
  const headers = { Origin: base, Accept: 'application/json' };
  if (cookie) headers.Cookie = cookie;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const set = res.headers.get('set-cookie');
  if (set) cookie = set.split(';')[0];
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
await call('POST', '/api/v1/auth/register', { email, password: 'bench password 123', name: 'Bench' });
const bytes = fs.readFileSync(wav);
const slot = await call('POST', '/api/v1/uploads', { filename: path.basename(wav), size: bytes.length, content_type: 'audio/wav' });
const put = await fetch(new URL(slot.url, base), { method: 'PUT', headers: { ...slot.headers, Cookie: cookie, Origin: base }, body: bytes });
if (!put.ok) throw new Error(`PUT: ${put.status} ${await put.text()}`);
let { job } = await call('POST', '/api/v1/jobs', { upload_id: slot.upload_id, preset: 'streaming' });
for (let i = 0; i < 600 && !['done', 'failed'].includes(job.status); i++) {
  await new Promise((r) => setTimeout(r, 200));
  ({ job } = await call('GET', `/api/v1/jobs/${job.id}`));
}
console.log(JSON.stringify({ cookie, job_id: job.id, status: job.status, job }));
