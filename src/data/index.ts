import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The data part: Rucio through the hub (docs/data.md). */
export { DataService, dataServiceFor, provideDataService, ruleModel, type RuleModel, type DataServiceOptions } from './service.js';
export { parseDid, didString, type DidRef } from './did.js';
export { adler32, Adler32 } from './adler32.js';
export { dataPart } from './hub-api.js';

const here = dirname(fileURLToPath(import.meta.url));
/** src/data/python (the `highrate_data` module), from dist/src/data or src/data: put it on notebooks' and workers' PYTHONPATH. */
export const DATA_PYTHON_DIR = here.includes(join('dist', 'src')) ? join(here, '..', '..', '..', 'src', 'data', 'python') : join(here, 'python');
