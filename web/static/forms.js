// Reads a chosen JSON file into its textarea so the user sees what will be submitted.
document.querySelectorAll("input[type=file][data-json-for]").forEach((input) => {
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    document.getElementById(input.dataset.jsonFor).value = await file.text();
  });
});
