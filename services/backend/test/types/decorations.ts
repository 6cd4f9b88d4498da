// The decorations our plugins add (app.auctions, request.user, …) are declared beside each plugin,
// and the built app.d.ts the tests see does not import the plugins: these imports bring their
// declarations into the tests' program. Type-only, so nothing runs.
import type {} from '../../src/plugins/app/auctions-repository.js';
import type {} from '../../src/plugins/app/authentication.js';
import type {} from '../../src/plugins/app/authorization.js';
import type {} from '../../src/plugins/app/internal-auth.js';
import type {} from '../../src/plugins/app/metrics.js';
import type {} from '../../src/plugins/app/rate-limits.js';
import type {} from '../../src/plugins/app/snapshot-ingest.js';
import type {} from '../../src/plugins/app/viewer-analytics-repository.js';
