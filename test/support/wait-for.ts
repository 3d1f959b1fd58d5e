/**
 * Polls `probe` until it returns something other than undefined, null or false, and returns that.
 * For conditions a test cannot cause directly (a lease running out, a line reaching a log):
 * wait for the condition itself, never for a fixed time that races it. Fails after `timeoutMs`,
 * saying what it waited for.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeoutMs = 30000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
