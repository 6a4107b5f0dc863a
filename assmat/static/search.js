// The commune field's suggestions: the communes the site holds, asked as the parent types.
// Without this script the field works the same, typed whole (name or postcode).
(function () {
  "use strict";
  var input = document.getElementById("champ-commune");
  var list = document.getElementById("communes-proposees");
  if (!input || !list || !window.fetch) { return; }
  var asked = "";
  input.addEventListener("input", function () {
    var q = input.value.trim();
    if (q.length < 2 || q === asked) { return; }
    asked = q;
    fetch(input.dataset.suggestions + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (labels) {
        if (q !== asked) { return; }
        list.replaceChildren.apply(list, labels.map(function (label) {
          var option = document.createElement("option");
          option.value = label;
          return option;
        }));
      })
      .catch(function () {});
  });
}());
