// Copy buttons: <button data-copy="ID" hidden> copies the value (or text) of element ID.
// Without JavaScript the buttons stay hidden and the text can be selected by hand.
(function () {
  "use strict";
  function copyText(text, source) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      if (source.select) source.select();
      (document.execCommand && document.execCommand("copy")) ? resolve() : reject();
    });
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy") + "-status");
    if (!source) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.value !== undefined ? source.value : source.textContent;
      copyText(text.trim(), source).then(
        function () { if (status) status.textContent = "Copied."; },
        function () { if (status) status.textContent = "Select the text and copy it."; }
      );
    });
  });
})();
