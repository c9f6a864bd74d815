import path from 'node:path';
import { QUEUE_DEFAULTS } from '../../../src/calls';
import { ConfigError, checkQueues, loadConfig, loadQueuesFile, routeFor } from '../../../src/config';

describe('the queues file', () => {
  it('ships a support queue beside the routing table, and a number routed to it', () => {
    const config = loadConfig({});
    expect(config.queuesPath).toBe(path.join(path.dirname(config.routingTablePath), 'queues.json'));
    expect(config.queues.support).toMatchObject({ strategy: 'longest-idle' });
    expect(routeFor(config.routing, '+15550001200')).toEqual({ flow: 'supportQueue', args: { queue: 'support' } });
    // The demo numbers that were there keep their flows.
    expect(routeFor(config.routing, '+15550001000').flow).toBe('defaultIvr');
  });

  it.each([
    [[], /must be an object of queue name/],
    [{ 'bad name!': {} }, /queue "bad name!": names are/],
    [{ sales: 3 }, /queue "sales" must be an object/],
    [{ sales: { maxSise: 3 } }, /unknown setting "maxSise"/],
    [{ sales: { maxSize: -1 } }, /"maxSize" must be a non-negative number/],
    [{ sales: { wrapUpSeconds: '10' } }, /"wrapUpSeconds" must be a non-negative number/],
    [{ sales: { strategy: 'random' } }, /"strategy" must be one of longest-idle, round-robin, ring-all/],
    [{ sales: { overflow: { kind: 'queue', queue: '' } } }, /"overflow" must be/],
    [{ sales: { holdMusicUrl: '' } }, /"holdMusicUrl" must be a non-empty string/],
  ])('refuses %j with a clear error', (content, message) => {
    expect(() => checkQueues(content, 'queues.json')).toThrow(ConfigError);
    expect(() => checkQueues(content, 'queues.json')).toThrow(message);
  });

  it('accepts every known setting, and names the file it cannot read', () => {
    expect(checkQueues({ sales: { ...QUEUE_DEFAULTS, overflow: { kind: 'voicemail' } } }, 'q.json')).toHaveProperty(
      'sales',
    );
    expect(() => loadQueuesFile('/nonexistent/queues.json')).toThrow(/cannot read queues file \/nonexistent/);
    expect(() => loadConfig({ QUEUES_PATH: '/nonexistent/queues.json' })).toThrow(ConfigError);
  });
});
