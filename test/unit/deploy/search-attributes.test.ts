import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CALL_SEARCH_ATTRIBUTES } from '../../../src/calls';

/** Compose's one-shot job registers the same search attributes, with the same types, as the dev server does. */
describe('deploy/register-search-attributes.sh', () => {
  it('registers every attribute of src/calls/search-attributes.ts with its type', () => {
    const script = readFileSync(path.resolve(__dirname, '../../../deploy/register-search-attributes.sh'), 'utf8');
    const registered = [...script.matchAll(/\b(Call\w+):(Keyword|Int)\b/g)].map(([, name, type]) => ({ name, type }));
    expect(registered).toEqual(CALL_SEARCH_ATTRIBUTES);
  });
});
