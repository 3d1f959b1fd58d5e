import net from "node:net";

/**
 * A TCP proxy in front of a real server, to make it misbehave as a network or a host can: `hang()`
 * keeps accepting connections and stops forwarding anything (a server that accepts TCP and never
 * answers); `restore()` cuts the stalled connections and forwards again.
 */
export interface TcpProxy {
  port: number;
  hang(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  let hung = false;
  const open = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    open.add(s);
    s.on("close", () => open.delete(s));
    s.on("error", () => s.destroy());
  };
  const server = net.createServer((client) => {
    track(client);
    if (hung) return; // accepted, never answered
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    client.on("data", (d) => {
      if (!hung) upstream.write(d);
    });
    upstream.on("data", (d) => {
      if (!hung) client.write(d);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    hang() {
      hung = true;
    },
    restore() {
      hung = false;
      for (const s of open) s.destroy();
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
