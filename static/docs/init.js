// Starts swagger-ui on /docs (docs/behaviour.md §14.3): an external script, the page has no inline script.
/* global SwaggerUIBundle */
window.addEventListener('DOMContentLoaded', function () {
  window.ui = SwaggerUIBundle({
    url: '/docs/openapi.yaml',
    dom_id: '#swagger-ui',
    deepLinking: true,
    docExpansion: 'list',
    validatorUrl: null,
    tryItOutEnabled: false,
  });
});
