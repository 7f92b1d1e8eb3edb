import { systemClock } from "@tether/core";
import { startSimulation } from "./simulation.js";

// Real time, short ticks: 24 sessions with 0.4–1 s timeouts, a third of them fall silent.
const tickTime = 200;
const sim = startSimulation({ clock: systemClock, tickTime, sessions: 24, silentShare: 0.35 });
const start = systemClock.now();
const since = () => `${((systemClock.now() - start) / 1000).toFixed(1).padStart(5)}s`;

let shown = 0;
const report = setInterval(() => {
  for (; shown < sim.events.length; shown++) {
    const event = sim.events[shown];
    if (event === undefined || event.kind === "opened") continue;
    const verb = event.kind === "expired" ? "expired (nothing heard)" : "closed by its client";
    console.log(`${since()}  session ${event.session} ${verb}`);
  }
  const buckets = [...sim.tracker.getSessionExpiryMap()]
    .map(([time, sessions]) => `+${Math.round(time - systemClock.now())}ms:${"#".repeat(sessions.length)}`)
    .join("  ");
  console.log(`${since()}  live ${String(sim.tracker.size).padStart(2)}  buckets ${buckets}`);
}, 500);

setTimeout(() => {
  clearInterval(report);
  sim.stop();
  const expired = sim.events.filter((e) => e.kind === "expired").length;
  console.log(
    `\ndone: ${sim.silentAt.size} clients fell silent, ${expired} sessions expired, ${sim.tracker.size} still live`,
  );
  console.log(`\nserver dump:\n${sim.tracker.dump()}`);
}, 6000);
