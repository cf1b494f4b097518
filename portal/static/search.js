// Applies a facet as soon as it is chosen (the "应用筛选" button does the same without script).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("search-form");
  if (!form) return;
  form.querySelectorAll(".facets select").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.id === "region") { var d = document.getElementById("department"); if (d) d.value = ""; }
      form.submit();
    });
  });
});
