/**
 * `npm run simulator [telnyx|signalwire|jambonz]`: one carrier's simulator as its own process, named by the
 * first argument or SIMULATOR_PROVIDER (default telnyx). Each `<carrier>/main.ts` lists its environment.
 */
import { isProvider, PROVIDERS, type Provider } from '../calls/ids';

// Imported only once chosen: each main starts its simulator as it loads.
const MAINS = {
  telnyx: () => import('./telnyx/main'),
  signalwire: () => import('./signalwire/main'),
  jambonz: () => import('./jambonz/main'),
} satisfies Record<Provider, () => Promise<unknown>>;

const name = process.argv[2] || process.env.SIMULATOR_PROVIDER || 'telnyx';
if (!isProvider(name)) {
  process.stderr.write(`unknown simulator "${name}"; one of: ${PROVIDERS.join(', ')}\n`);
  process.exit(2);
}
void MAINS[name]();
