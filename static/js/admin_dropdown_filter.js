// The admin's menu list filters (incidents.admin.DropdownFilter): choosing a value applies it.
(function () {
  "use strict";
  document.querySelectorAll("select.admin-dropdown-filter").forEach(function (select) {
    select.addEventListener("change", function () { window.location.search = select.value; });
  });
})();
