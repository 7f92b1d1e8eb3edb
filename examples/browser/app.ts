/**
 * The browser side: the same `createClient` as in Node, with the WebSocket transport's browser
 * build (chosen by the `browser` export condition when bundling).
 */
import { createClient } from "@tether/core";
import { webSocket } from "@tether/transport-ws";

const log = document.getElementById("log") as HTMLElement;
const say = (line: string) => {
  log.textContent += `${new Date().toISOString().slice(11, 23)}  ${line}\n`;
};

const url = new URL("/tether", location.href);
url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
// serverPings: a tab in the background fires timers late; the server pings it instead.
const client = createClient({
  servers: [{ transport: webSocket(), address: url.href }],
  timeout: 3000,
  serverPings: true,
});

const report = {
  states: [] as string[],
  sessionIds: [] as string[],
  pushes: [] as unknown[],
  replies: [] as unknown[],
};
(window as unknown as { tether: unknown }).tether = { client, status: report };

client.on("state", (state) => {
  report.states.push(state);
  if (client.sessionId && !report.sessionIds.includes(client.sessionId))
    report.sessionIds.push(client.sessionId);
  say(`${state} (session ${client.sessionId?.slice(0, 8) ?? "none"})`);
});
client.on("push", (topic, body) => {
  report.pushes.push(body);
  say(`push ${topic}: ${JSON.stringify(body)}`);
});

(document.getElementById("ping") as HTMLButtonElement).onclick = async () => {
  const reply = await client.request("echo", { sent: Date.now() });
  report.replies.push(reply);
  say(`reply ${JSON.stringify(reply)}`);
};
