// htm bound to preact: the views' templates (tagged template literals: no build step).
import { h } from './vendor/preact.mjs';
import htm from './vendor/htm.mjs';

export const html = htm.bind(h);
