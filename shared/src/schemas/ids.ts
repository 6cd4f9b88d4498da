import Type from 'typebox';

export const OBJECT_ID_PATTERN = /^[0-9a-fA-F]{24}$/;

export const ObjectIdSchema = Type.String({
  pattern: OBJECT_ID_PATTERN.source,
  description: 'A MongoDB ObjectId: 24 hexadecimal characters',
  examples: ['665f1c2a9b1e8a0012345678'],
});

export const AuctionParamsSchema = Type.Object({ id: ObjectIdSchema });
export type AuctionParams = Type.Static<typeof AuctionParamsSchema>;
