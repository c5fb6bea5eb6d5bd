/* Session expiry: when a callback answers 401 (no valid session) or asks for a password change,
 * go to the page the server names instead of leaving a dashboard frozen with stale figures. */
(function () {
  "use strict";
  if (!window.fetch || window.__iocSessionWatch) { return; }
  window.__iocSessionWatch = true;
  var originalFetch = window.fetch;
  window.fetch = function (resource, init) {
    return originalFetch.apply(this, arguments).then(function (response) {
      var url = typeof resource === "string" ? resource : (resource && resource.url) || "";
      var isCallback = url.indexOf("_dash-update-component") !== -1;
      if (isCallback && (response.status === 401 || response.status === 403)) {
        response.clone().json().then(function (body) {
          // Only the guard's answers carry "login"; a plain 403 (outside scope) stays on the page.
          if (!body || typeof body.login !== "string" || body.login.charAt(0) !== "/") { return; }
          var here = window.location.pathname + window.location.search;
          var sep = body.login.indexOf("?") === -1 ? "?" : "&";
          var target = body.login + sep + "next=" + encodeURIComponent(here);
          if (response.status === 401) { target += "&expired=1"; }
          window.location.assign(target);
        }).catch(function () { /* not JSON: nothing to follow */ });
      }
      return response;
    });
  };
}());
