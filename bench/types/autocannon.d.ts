// Minimal typing of the part of autocannon the bench uses (the package ships no types).
declare module 'autocannon' {
  namespace autocannon {
    interface Result {
      duration: number;
      requests: { total: number; average: number };
      latency: { p50: number; p99: number; average: number; max: number };
      non2xx: number;
      errors: number;
      timeouts: number;
    }
  }
  function autocannon(options: Record<string, unknown>, callback: (err: Error | null, result: autocannon.Result) => void): unknown;
  export default autocannon;
}
