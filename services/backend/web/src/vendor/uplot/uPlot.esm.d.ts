// The pages import uPlot by a relative URL that the browser resolves to /assets/vendor/uplot/,
// where the static plugin serves the installed package's ESM build (no bundler, and no import map:
// the pages' CSP allows no inline script). This file gives that URL the package's own types.
import uPlot from 'uplot';
export default uPlot;
