import { Agent, request } from 'node:http';

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
}

export interface LoadRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A closed-loop load generator: `concurrency` keep-alive connections, each sending the
 * next request as soon as the previous answer arrives, for `seconds`. Bounded in time
 * and only ever pointed at loopback.
 */
export async function runLoad(
  baseUrl: string,
  next: (index: number) => LoadRequest,
  options: { concurrency: number; seconds: number },
): Promise<LoadResult> {
  const url = new URL(baseUrl);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error('load only targets loopback');
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let counter = 0;
  const deadline = performance.now() + options.seconds * 1000;
  const started = performance.now();

  const send = (spec: LoadRequest) =>
    new Promise<number>((resolve) => {
      const headers: Record<string, string | number> = { ...spec.headers };
      if (spec.body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(spec.body);
      }
      const req = request(
        { agent, host: url.hostname, port: url.port, method: spec.method, path: spec.path, headers },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(0));
      if (spec.body !== undefined) req.write(spec.body);
      req.end();
    });

  const loop = async () => {
    while (performance.now() < deadline) {
      const spec = next(counter++);
      const t0 = performance.now();
      const status = await send(spec);
      latencies.push(performance.now() - t0);
      if (status < 200 || status >= 300) errors++;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
  };
}
