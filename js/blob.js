// Whether a value is a File or Blob, asked safely: the validator's JS path, fitReferenceImage
// and the client's files all tell a file reference from a URL string with it.
export const isBlob = (value) => {
  try {
    return value instanceof Blob;
  } catch {
    return false; // no Blob here, or a revoked Proxy
  }
};
