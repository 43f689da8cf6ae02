// Renders /openapi.json with Redoc's standalone bundle (served by Segue itself, no network).
/* global Redoc */
Redoc.init(
  '/openapi.json',
  {
    expandResponses: '200,201',
    jsonSampleExpandLevel: 3,
    hideHostname: false,
    theme: { typography: { fontFamily: 'system-ui, sans-serif', headings: { fontFamily: 'system-ui, sans-serif' } } },
  },
  document.getElementById('reference'),
);
