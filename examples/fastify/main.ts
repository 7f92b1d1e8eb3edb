import { startFastifyApp } from "./app.js";

const app = await startFastifyApp(Number(process.env.PORT ?? 3001));
console.log(`Fastify routes at ${app.url}/health, Tether at ${app.tetherAddress}`);
