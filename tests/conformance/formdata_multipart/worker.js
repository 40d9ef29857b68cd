// request.formData() on multipart/form-data: text fields and an uploaded file.
export default {
  async fetch(request) {
    const form = await request.formData();
    const file = form.get("upload");
    return Response.json({
      title: form.get("title"),
      fileIsFile: file instanceof File,
      fileIsBlob: file instanceof Blob,
      fileName: file.name,
      fileType: file.type,
      fileSize: file.size,
      fileText: await file.text(),
      keys: [...form.keys()],
    });
  },
};
