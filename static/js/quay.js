// The check-in page: scan an e-ticket's QR code with the device camera (ZXing, served by us), put what it reads in
// the reference field and send it. Without a camera, or if it is refused, the field is typed in as before.
// On a scan's answer, a ticket that does not board makes the device vibrate, where it can.
(function () {
  "use strict";

  var verdict = document.querySelector("[data-verdict]");
  if (verdict && verdict.dataset.verdict !== "valid" && navigator.vibrate) {
    navigator.vibrate([300, 120, 300]);
  }

  var page = document.querySelector("[data-quay]");
  if (!page) return;
  var start = page.querySelector("[data-camera-start]");
  var stop = page.querySelector("[data-camera-stop]");
  var camera = page.querySelector("[data-camera]");
  var video = page.querySelector("[data-video]");
  var error = page.querySelector("[data-camera-error]");
  var form = page.querySelector("[data-code-form]");
  var field = page.querySelector("[data-code]");
  var controls = null;

  var canScan = window.ZXingBrowser && navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
  if (!canScan) return;
  start.hidden = false;

  function halt() {
    if (controls) controls.stop();
    controls = null;
    camera.hidden = true;
    start.hidden = false;
  }

  start.addEventListener("click", function () {
    error.hidden = true;
    start.hidden = true;
    camera.hidden = false;
    var reader = new window.ZXingBrowser.BrowserQRCodeReader();
    var constraints = { video: { facingMode: "environment" } };
    reader
      .decodeFromConstraints(constraints, video, function (result, _error, running) {
        if (!result) return;
        controls = running;
        field.value = result.getText();
        halt();
        form.submit();
      })
      .then(function (running) {
        controls = running;
      })
      .catch(function () {
        halt();
        error.hidden = false;
      });
  });
  stop.addEventListener("click", halt);
})();
