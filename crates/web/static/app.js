// Council's pages: follow a live run over Server-Sent Events, and fit
// report frames to their content. No inline script anywhere: the
// Content-Security-Policy forbids it. Every fragment is drawn and escaped
// by the server; this file only places it.
(function () {
  'use strict';

  function fromHtml(html) {
    var t = document.createElement('template');
    t.innerHTML = html;
    return t.content;
  }

  function follow(run) {
    var log = document.getElementById('log');
    var last = parseInt(run.getAttribute('data-after') || '0', 10);
    var es = new EventSource(run.getAttribute('data-events') + '?after=' + last);
    es.addEventListener('ev', function (e) {
      var n = parseInt(e.lastEventId, 10);
      if (!(n > last)) { return; } // shown already
      var part = fromHtml(e.data);
      var first = part.firstElementChild;
      if (first && first.id && document.getElementById(first.id)) { return; }
      last = n;
      if (first && first.hasAttribute('data-question')) {
        // The header line: the question and date the page could not know yet.
        document.getElementById('question').textContent = first.getAttribute('data-question');
        document.getElementById('run-date').textContent = first.getAttribute('data-date');
      }
      log.appendChild(part);
    });
    es.addEventListener('status', function (e) {
      var s = document.getElementById('status');
      s.textContent = e.data;
      s.className = 'badge badge-' + e.data;
    });
    es.addEventListener('end', function (e) {
      es.close();
      if (!document.getElementById('ev-end')) { log.appendChild(fromHtml(e.data)); }
      ['waiting', 'cancel-form'].forEach(function (id) {
        var el = document.getElementById(id);
        if (el) { el.classList.add('hidden'); }
      });
      if (log.querySelector('#ev-end a')) {
        document.getElementById('report-link').classList.remove('hidden');
      }
    });
  }

  function fit(frame) {
    try {
      var d = frame.contentDocument;
      if (d && d.documentElement) {
        frame.style.height = (d.documentElement.scrollHeight + 32) + 'px';
      }
    } catch (err) { /* another origin: keep the default height */ }
  }

  var run = document.getElementById('run');
  if (run && run.getAttribute('data-live') === 'true') { follow(run); }
  Array.prototype.forEach.call(document.querySelectorAll('iframe.report'), function (f) {
    f.addEventListener('load', function () { fit(f); });
    fit(f);
  });
})();
