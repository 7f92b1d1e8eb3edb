import { systemClock } from "@tether/core";
import { runScenario } from "./scenario.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const result = await runScenario(systemClock, sleep, (line) => console.log(line));
console.log(`\nleader is now ${String(result.leader)}; alice's client says ${result.aliceState}`);
