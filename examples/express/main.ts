import { startExpressApp } from "./app.js";

const app = await startExpressApp(Number(process.env.PORT ?? 3000));
console.log(`Express routes at ${app.url}/health, Tether at ${app.tetherAddress}`);
