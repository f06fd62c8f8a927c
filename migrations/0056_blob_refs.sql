-- A failed dataset import deletes only the blobs nothing refers to
-- (store.UnreferencedBlobs): look them up by digest.
CREATE INDEX dataset_images_lr_idx ON dataset_images (lr_sha256);
CREATE INDEX dataset_images_hr_idx ON dataset_images (hr_sha256);
